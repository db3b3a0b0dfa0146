"""``python -m museforge.jobs run JOB_ID [--store PATH]``: the worker process the server starts."""

import sys

from museforge.jobs.worker import main

sys.exit(main())
