import sys

from monday_receipts.main import main

sys.exit(main())
