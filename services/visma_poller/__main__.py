import sys

from visma_poller.main import main

sys.exit(main())
