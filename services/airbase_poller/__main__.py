import sys

from airbase_poller.main import main

sys.exit(main())
