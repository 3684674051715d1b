// The value types task code and callers use are part of Celery's API; the C libraries
// behind them (jansson, hiredis) are not.
@_exported public import CeleryJSON
@_exported public import CeleryProtocol
