import sys

from monday_sink.main import main

sys.exit(main())
