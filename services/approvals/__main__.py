import sys

from approvals.main import main

sys.exit(main())
