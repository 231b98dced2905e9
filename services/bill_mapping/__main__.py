import sys

from bill_mapping.main import main

sys.exit(main())
