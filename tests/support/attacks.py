"""Attack payloads more than one test replays (docs/security.md names the tests)."""

# Jinja2 sandbox escapes: each reaches for Python objects or globals a template must never see.
TEMPLATE_ESCAPES = [
    "{{ cycler.__init__.__globals__.os.getpid() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ config }}",
    "{{ request }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
]
