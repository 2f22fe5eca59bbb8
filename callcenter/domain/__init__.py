"""What a contact center is: calls, queue calls, agents, timers, errors, who may do what.

Plain Python: no framework, no I/O (held by import-linter). Adapters in ``callcenter.server``
call it and deliver the ``Outcome`` each step returns."""
