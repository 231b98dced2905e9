import sys

from ingress.main import main

sys.exit(main())
