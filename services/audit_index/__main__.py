import sys

from audit_index.main import main

sys.exit(main())
