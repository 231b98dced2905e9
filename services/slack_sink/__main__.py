import sys

from slack_sink.main import main

sys.exit(main())
