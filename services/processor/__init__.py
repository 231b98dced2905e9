"""The faust processor of the Visma to Slack flow: supplier invoice changes become Slack
commands according to a YAML rules file (see rules.example.yaml)."""
