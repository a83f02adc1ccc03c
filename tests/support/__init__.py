"""What the tests share: infrastructure fixtures, isolated namespaces, event taps and waits."""
