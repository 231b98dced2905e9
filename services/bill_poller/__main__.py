import sys

from bill_poller.main import main

sys.exit(main())
