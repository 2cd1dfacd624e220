import sys

from mdfloss.cli import main

sys.exit(main())
