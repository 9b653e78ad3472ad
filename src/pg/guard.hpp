// The PostgreSQL/C++ boundary.
//
// Two rules (CONTRIBUTING.md):
//  1. No C++ exception crosses into PostgreSQL. Every extern "C" entry point
//     runs its body through entry_boundary(), which catches everything.
//  2. No PostgreSQL error (a longjmp) unwinds a frame holding a live C++ object
//     with a destructor. PostgreSQL calls that may raise are made inside
//     pg_guard(), which catches the error at a PG_TRY in its own frame and
//     rethrows it as a C++ PgError, so C++ frames above unwind normally.
//     Code inside a pg_guard lambda keeps only trivially destructible locals.
// entry_boundary() raises the saved error (SQLSTATE kept) only after it has
// left every catch block, so no C++ exception object is skipped either.
#pragma once

#include "core/span.hpp"
#include "pg/pg.hpp"

#include <cstring>
#include <exception>
#include <new>

namespace llmtrace::pg {

// A PostgreSQL error caught by pg_guard; owns a copy of the ErrorData.
class PgError final : public std::exception {
public:
    explicit PgError(ErrorData* e) : edata_(e) {}
    const char* what() const noexcept override { return edata_ && edata_->message ? edata_->message : "PostgreSQL error"; }
    ErrorData* edata() const { return edata_; }

private:
    ErrorData* edata_;
};

template <typename Fn>
void pg_guard(Fn&& fn) {
    MemoryContext cxt = CurrentMemoryContext;
    ErrorData* volatile edata = nullptr;
    std::exception_ptr cpp_error;
    PG_TRY();
    {
        try {
            fn();
        } catch (...) {
            cpp_error = std::current_exception();
        }
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(cxt);
        edata = CopyErrorData();
        FlushErrorState();
    }
    PG_END_TRY();
    if (cpp_error) std::rethrow_exception(cpp_error);
    if (edata) throw PgError(edata);
}

// Bad input raised as the statement's error (llmtrace.on_error = 'error').
// Not a core::InputError: it is thrown from inside the normalizer (by the sink
// that receives a failure) and must pass through the normalizer's own
// handlers of InputError untouched.
class RaisedInputError final : public std::runtime_error {
public:
    RaisedInputError(const char* sqlstate, const std::string& msg)
        : std::runtime_error(msg), sqlstate_(sqlstate) {}
    const char* sqlstate() const { return sqlstate_; }

private:
    const char* sqlstate_;
};

namespace detail {
// Message storage for errors raised after the catch blocks are left: static,
// so that raising does not need an allocation that could itself fail.
inline char boundary_message[2048];

// Keeps the message of bad input for raising; returns its SQLSTATE.
inline int input_error(const char* s, const char* what) {
    strlcpy(boundary_message, what, sizeof boundary_message);
    return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}
}  // namespace detail

template <typename Fn>
Datum entry_boundary(Fn&& fn) {
    ErrorData* pg_error = nullptr;
    int sqlstate = 0;
    Datum result = (Datum)0;
    try {
        result = fn();
        return result;
    } catch (const PgError& e) {
        pg_error = e.edata();
    } catch (const core::InputError& e) {
        sqlstate = detail::input_error(e.sqlstate(), e.what());
    } catch (const RaisedInputError& e) {
        sqlstate = detail::input_error(e.sqlstate(), e.what());
    } catch (const std::bad_alloc&) {
        sqlstate = ERRCODE_OUT_OF_MEMORY;
        strlcpy(detail::boundary_message, "llmtrace: out of memory", sizeof detail::boundary_message);
    } catch (const std::exception& e) {
        sqlstate = ERRCODE_INTERNAL_ERROR;
        strlcpy(detail::boundary_message, "llmtrace: internal error: ", sizeof detail::boundary_message);
        strlcat(detail::boundary_message, e.what(), sizeof detail::boundary_message);
    } catch (...) {
        sqlstate = ERRCODE_INTERNAL_ERROR;
        strlcpy(detail::boundary_message, "llmtrace: unknown internal error", sizeof detail::boundary_message);
    }
    // Outside every catch block: raising the error here skips no destructor.
    if (pg_error) ReThrowError(pg_error);
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", detail::boundary_message)));
    return result;
}

}  // namespace llmtrace::pg
