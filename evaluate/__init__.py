"""evaluate: metrics, alignments, protocols, benchmark runner and reports."""
