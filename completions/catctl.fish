complete --keep-order --exclusive --command catctl --arguments "(COMPLETE=fish catctl -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
