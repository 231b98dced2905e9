import sys

from visma_writer.main import main

sys.exit(main())
