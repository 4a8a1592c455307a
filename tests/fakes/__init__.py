"""In-memory fakes of the ports in functions/weightshift/ports.py.

Each keeps the real adapter's conditional semantics (the record store's guards, the
lock's conditions, Route 53's weight range, Step Functions' idempotent start) and
takes faults: ``fake.faults.fail("apply", error, times=2)`` makes the next two
matching calls raise. tests/component/test_record_store_contract.py runs the same
scenarios against the fake record store and the real one on moto.
"""
