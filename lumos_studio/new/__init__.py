"""``lumos-studio new``: a project from a template (chatbot, rag, workflow, evaluated), by
wizard or flags.

``templates.py`` lists the templates and ``providers.py`` the model choices; ``project.py``
writes the files; ``wizard.py`` asks the questions; ``command.py`` is the click command.
"""
