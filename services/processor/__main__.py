"""`python -m processor --rules FILE`: runs the processor worker."""

import sys

from processor.main import main

if __name__ == "__main__":
    sys.exit(main())
