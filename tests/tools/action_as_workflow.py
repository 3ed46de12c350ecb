#!/usr/bin/env python3
"""action_as_workflow.py action.yml OUT.yml: the composite action's steps as a
workflow (inputs as workflow_dispatch inputs), so actionlint, which lints
workflows, checks the action's steps and expressions too."""
import sys
import yaml

action = yaml.safe_load(open(sys.argv[1]))
inputs = {name: {"type": "string", "default": spec.get("default", ""), "description": spec.get("description", "")}
          for name, spec in action.get("inputs", {}).items()}
steps = []
for step in action["runs"]["steps"]:
    step = dict(step)
    steps.append(step)
workflow = {
    "name": "action " + action.get("name", ""),
    "on": {"workflow_dispatch": {"inputs": inputs}},
    "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": steps}},
}
with open(sys.argv[2], "w") as out:
    yaml.safe_dump(workflow, out, sort_keys=False)
