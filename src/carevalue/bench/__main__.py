"""``python -m carevalue.bench``: the pipeline benchmark (and its child steps)."""

from carevalue.bench.pipeline import main

main()
