import sys

from serve_apps.summary.cli import main

sys.exit(main())
