import sys

from airbase_sink.main import main

sys.exit(main())
