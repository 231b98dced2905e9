import sys

from credential_check.main import main

sys.exit(main())
