"""EC2 state as eniops reasons about it: the frozen model parsed from describe output, route
tables, the tags eniops writes, the typed views results show, the typed reads over the
gateway, and the rules every operation shares."""
