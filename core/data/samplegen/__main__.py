"""`python -m core.data.samplegen`: rewrite (or `--check`) the embedded sample asset."""

from core.data.samplegen import main

raise SystemExit(main())
