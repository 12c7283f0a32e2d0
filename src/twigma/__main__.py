import sys

from twigma.cli import main

sys.exit(main())
