"""``python -m opsgate.config``: print docs/configuration.md from the table."""

import sys

from opsgate.config._reference import reference

sys.stdout.write(reference())
