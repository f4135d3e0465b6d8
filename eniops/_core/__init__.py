"""The pure core: ids and addresses parsed, errors and reason codes, EC2's error codes, results,
the deadline, settings, logging, the version and the pool every EC2 call runs on. Nothing here
imports boto3 or another layer of eniops."""
