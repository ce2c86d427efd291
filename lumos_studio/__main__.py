"""``python -m lumos_studio`` is ``lumos-studio``."""

from lumos_studio.cli import main

main()
