module catctl.local/real-cluster/pause

go 1.24.0
