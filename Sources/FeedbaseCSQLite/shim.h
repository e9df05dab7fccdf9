// The thinnest shim over the system SQLite: wrappers for the calls Swift cannot import
// (variadic functions, macros that are casts).
#ifndef FEEDBASE_CSQLITE_SHIM_H
#define FEEDBASE_CSQLITE_SHIM_H

#include <sqlite3.h>

static inline int feedbase_sqlite3_db_config_int(sqlite3 *db, int op, int value, int *result) {
    return sqlite3_db_config(db, op, value, result);
}

/// SQLITE_CONFIG_MEMSTATUS: off spares a global mutex on every SQLite allocation. Only takes
/// effect before the library is initialised (the first open); returns SQLITE_MISUSE after.
static inline int feedbase_sqlite3_config_memstatus(int on) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, on);
}

/// SQLITE_CONFIG_LOG: SQLite reports misuse of its API (a call on a closed connection) and other
/// anomalies through this callback. Same rule as above: before the first open.
static inline int feedbase_sqlite3_config_log(void (*callback)(void *, int, const char *), void *context) {
    return sqlite3_config(SQLITE_CONFIG_LOG, callback, context);
}

static inline sqlite3_destructor_type feedbase_sqlite3_transient(void) {
    return SQLITE_TRANSIENT;
}

#endif
