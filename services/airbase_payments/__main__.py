import sys

from airbase_payments.main import main

sys.exit(main())
