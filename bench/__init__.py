"""The benchmark harness: `make bench` (full) and `make bench QUICK=1` (smoke). See README.md."""
