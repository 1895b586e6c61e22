"""Run reports: the trainer's metrics read back, plotted and summarised.

``runfiles`` reads ``metrics.jsonl``/``summary.json``; ``curves`` turns records into
plotted series (pure); ``figure`` draws them with matplotlib (imported lazily);
``billing`` prices a finished run; ``markdown`` writes the summary; ``live`` parses
the trainer's log lines for the follow view. Importing this package imports
neither matplotlib nor torch.
"""
