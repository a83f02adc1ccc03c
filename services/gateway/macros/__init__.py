"""Macros (canned responses): the pure part, the model, the sandboxed rendering and the commands a macro sends."""
