import sys

from twilio_sink.main import main

sys.exit(main())
