"""The student case (救助档案): one aggregate, its events in one module, its rules by stage.

``StudentCase`` (:mod:`.aggregate`) is the one consistency boundary; :mod:`.events` holds
its stored events; :mod:`.intake`, :mod:`.grants`, :mod:`.money_loop`, :mod:`.consultation`
and :mod:`.personal_data` hold the rules and state changes of each stage, over the state
declared in :mod:`.state`.
"""

from aidflow.domain.case.aggregate import StudentCase

__all__ = ["StudentCase"]
