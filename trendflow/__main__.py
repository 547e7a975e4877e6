import sys

from trendflow.cli import main

sys.exit(main())
