"""`python -m core.samplegen`: rewrite (or `--check`) the embedded sample asset."""

from core.samplegen import main

raise SystemExit(main())
