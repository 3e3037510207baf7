/*
 * calls.hpp: a header-only C++17 wrapper of calls.h.
 * SPDX-License-Identifier: MIT OR Apache-2.0
 *
 *   calls::Client client = calls::Client::from_env();
 *   calls::Query q;
 *   q.set("end_time__gte", "2026-11-01 00:00").set("call_direction", "outbound");
 *   for (const calls::Call &call : client.calls(q)) {
 *       std::string_view uuid = call.uuid();
 *       std::optional<std::int64_t> billed = call.int64("billed_duration");
 *       std::optional<std::string_view> amount = call.money("total_amount");
 *   }
 *
 * - One move-only RAII owner per handle (ClientBuilder, Client, Query, Pager,
 *   Call); destructors never throw.
 * - A failure throws calls::Error with the calls_result, the HTTP status and
 *   the library's message (which never holds the auth token).
 * - Call accessors return std::string_view into the record (valid while the
 *   Call lives) and std::optional where a field can be absent or null.
 * - Thread use as in calls.h: a Client may be shared by threads; a Pager,
 *   Query, ClientBuilder or Call by one at a time (a const Call by many).
 */
#ifndef CALLS_HPP
#define CALLS_HPP

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "calls.h"

namespace calls {

/// A failed library call: its result code, the HTTP status of the answer
/// (0 when none) and the library's message.
class Error : public std::runtime_error {
public:
    Error(calls_result code, std::uint16_t http_status, const std::string &message)
        : std::runtime_error(message), code_(code), http_status_(http_status) {}
    /// The calls_result (CALLS_RESULT_*).
    calls_result code() const noexcept { return code_; }
    /// calls_last_http_status() when the failure happened.
    std::uint16_t http_status() const noexcept { return http_status_; }
    /// The static description of the code ("CALLS_RESULT_TIMEOUT: timed out").
    const char *code_str() const noexcept { return calls_result_str(code_); }

private:
    calls_result code_;
    std::uint16_t http_status_;
};

namespace detail {

/// Throws the thread's last error for `rc` unless it is OK (or DONE when
/// `done_ok`). `what` names the C function.
inline void check(calls_result rc, const char *what, bool done_ok = false) {
    if (rc == CALLS_RESULT_OK || (done_ok && rc == CALLS_RESULT_DONE)) return;
    std::string msg = std::string(what) + ": " + calls_result_str(rc);
    const char *last = calls_last_error_message();
    if (last != nullptr && *last != '\0') msg += std::string(": ") + last;
    throw Error(rc, calls_last_http_status(), msg);
}

/// A move-only owner of a C handle freed by `Free`.
template <class T, void (*Free)(T *)> class Handle {
public:
    Handle() noexcept = default;
    explicit Handle(T *p) noexcept : p_(p) {}
    Handle(Handle &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    Handle &operator=(Handle &&o) noexcept {
        if (this != &o) reset(std::exchange(o.p_, nullptr));
        return *this;
    }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    ~Handle() { reset(); }
    T *get() const noexcept { return p_; }
    T *release() noexcept { return std::exchange(p_, nullptr); }
    void reset(T *p = nullptr) noexcept {
        if (p_ != nullptr) Free(p_);
        p_ = p;
    }
    explicit operator bool() const noexcept { return p_ != nullptr; }

private:
    T *p_ = nullptr;
};

/// A string the library returned through char **, as std::string.
inline std::string take_string(char *s, std::size_t len) {
    Handle<char, calls_string_free> owner(s);
    return s != nullptr ? std::string(s, len) : std::string();
}

} // namespace detail

/// One call detail record: every field the service sent, read without a
/// JSON parser. Move-only; views it hands out live as long as it does.
class Call {
public:
    /// Takes ownership of a record from calls_pager_next_call or
    /// calls_client_get_call.
    explicit Call(calls_call *c) noexcept : c_(c) {}

    /// The field's value as text (calls_call_get): std::nullopt when the
    /// record has no such field or it is JSON null (`has` tells which).
    std::optional<std::string_view> get(const char *name) const {
        const char *v = nullptr;
        std::size_t len = 0;
        calls_result rc = calls_call_get(c_.get(), name, &v, &len);
        if (rc == CALLS_RESULT_NO_FIELD) return std::nullopt;
        detail::check(rc, "calls_call_get");
        if (v == nullptr) return std::nullopt;
        return std::string_view(v, len);
    }
    std::optional<std::string_view> get(const std::string &name) const { return get(name.c_str()); }

    /// Whether the record has the field (null or not).
    bool has(const char *name) const {
        const char *v = nullptr;
        calls_result rc = calls_call_get(c_.get(), name, &v, nullptr);
        if (rc == CALLS_RESULT_NO_FIELD) return false;
        detail::check(rc, "calls_call_get");
        return true;
    }

    /// `call_uuid` (always present).
    std::string_view uuid() const { return get("call_uuid").value_or(std::string_view()); }

    /// An integer field (calls_call_get_int64); nullopt when absent or null.
    /// Throws Error (INVALID_ARGUMENT) when the value is not an integer.
    std::optional<std::int64_t> int64(const char *name) const {
        std::int64_t v = 0;
        calls_result rc = calls_call_get_int64(c_.get(), name, &v);
        return scalar(rc, "calls_call_get_int64", v);
    }
    /// A timestamp as Unix microseconds (calls_call_get_time_us).
    std::optional<std::int64_t> time_us(const char *name) const {
        std::int64_t v = 0;
        calls_result rc = calls_call_get_time_us(c_.get(), name, &v);
        return scalar(rc, "calls_call_get_time_us", v);
    }
    /// A boolean (calls_call_get_bool).
    std::optional<bool> boolean(const char *name) const {
        int v = 0;
        calls_result rc = calls_call_get_bool(c_.get(), name, &v);
        auto r = scalar(rc, "calls_call_get_bool", v);
        if (!r) return std::nullopt;
        return *r != 0;
    }
    /// An amount as its exact decimal text (calls_call_get_money).
    std::optional<std::string_view> money(const char *name) const {
        const char *v = nullptr;
        std::size_t len = 0;
        calls_result rc = calls_call_get_money(c_.get(), name, &v, &len);
        if (rc == CALLS_RESULT_NO_FIELD) return std::nullopt;
        detail::check(rc, "calls_call_get_money");
        return std::string_view(v, len);
    }
    /// An amount in exact integer micro-units (calls_call_get_money_micros).
    std::optional<std::int64_t> money_micros(const char *name) const {
        std::int64_t v = 0;
        calls_result rc = calls_call_get_money_micros(c_.get(), name, &v);
        return scalar(rc, "calls_call_get_money_micros", v);
    }

    /// The number of fields.
    std::size_t size() const noexcept { return calls_call_field_count(c_.get()); }

    /// One field: its name and its value (nullopt for JSON null).
    struct Field {
        std::string_view name;
        std::optional<std::string_view> value;
    };
    /// The field at `index` (calls_call_field_at); throws Error
    /// (INVALID_ARGUMENT) when out of range.
    Field field(std::size_t index) const {
        const char *n = nullptr, *v = nullptr;
        std::size_t len = 0;
        detail::check(calls_call_field_at(c_.get(), index, &n, &v, &len), "calls_call_field_at");
        Field f{std::string_view(n), std::nullopt};
        if (v != nullptr) f.value = std::string_view(v, len);
        return f;
    }

    /// The record as compact JSON (calls_call_json).
    std::string_view json() const {
        const char *j = nullptr;
        std::size_t len = 0;
        detail::check(calls_call_json(c_.get(), &j, &len), "calls_call_json");
        return std::string_view(j, len);
    }

    /// The C handle, still owned by this Call.
    const calls_call *get() const noexcept { return c_.get(); }

private:
    template <class T>
    static std::optional<T> scalar(calls_result rc, const char *what, T v) {
        if (rc == CALLS_RESULT_NO_FIELD) return std::nullopt;
        detail::check(rc, what);
        return v;
    }
    detail::Handle<calls_call, calls_call_free> c_;
};

/// Filters (calls_query_*), with chained setters.
class Query {
public:
    Query() {
        calls_query *q = nullptr;
        detail::check(calls_query_new(&q), "calls_query_new");
        q_.reset(q);
    }
    /// Sets one filter (`end_time__gte`, `call_direction`, ...); throws
    /// Error (INVALID_ARGUMENT, VALIDATION) for a bad name or value.
    Query &set(const char *name, const char *value) & {
        detail::check(calls_query_set(q_.get(), name, value), "calls_query_set");
        return *this;
    }
    Query &&set(const char *name, const char *value) && { return std::move(set(name, value)); }
    Query &set(const std::string &name, const std::string &value) & { return set(name.c_str(), value.c_str()); }
    /// The encoded query string.
    std::string to_string() const {
        char *s = nullptr;
        std::size_t len = 0;
        detail::check(calls_query_to_string(q_.get(), &s, &len), "calls_query_to_string");
        return detail::take_string(s, len);
    }
    calls_query *get() const noexcept { return q_.get(); }

private:
    detail::Handle<calls_query, calls_query_free> q_;
};

/// A lazy walk over every matching call (calls_pager_*). Range-for yields
/// `const Call &`, valid until the loop advances; move it out to keep it.
class Pager {
public:
    explicit Pager(calls_pager *p) noexcept : p_(p) {}

    /// The next call, or nullopt when every call was returned.
    std::optional<Call> next() {
        calls_call *c = nullptr;
        calls_result rc = calls_pager_next_call(p_.get(), &c);
        if (rc == CALLS_RESULT_DONE) return std::nullopt;
        detail::check(rc, "calls_pager_next_call");
        return Call(c);
    }

    /// The pager's counters as JSON (calls_pager_stats).
    std::string stats() const {
        char *s = nullptr;
        std::size_t len = 0;
        detail::check(calls_pager_stats(p_.get(), &s, &len), "calls_pager_stats");
        return detail::take_string(s, len);
    }
    /// Stops a pager blocked in another thread (calls_pager_cancel).
    void cancel() { detail::check(calls_pager_cancel(p_.get()), "calls_pager_cancel"); }
    calls_pager *get() const noexcept { return p_.get(); }

    /// An input iterator over the pager's calls.
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Call;
        using difference_type = std::ptrdiff_t;
        using pointer = const Call *;
        using reference = const Call &;
        iterator() noexcept = default;
        explicit iterator(Pager *p) : p_(p) { ++*this; }
        reference operator*() const { return *cur_; }
        pointer operator->() const { return &*cur_; }
        iterator &operator++() {
            cur_.reset();
            cur_ = p_->next();
            if (!cur_) p_ = nullptr;
            return *this;
        }
        bool operator==(const iterator &o) const noexcept { return p_ == o.p_; }
        bool operator!=(const iterator &o) const noexcept { return p_ != o.p_; }

    private:
        Pager *p_ = nullptr;
        std::optional<Call> cur_;
    };
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

private:
    detail::Handle<calls_pager, calls_pager_free> p_;
};

class Client;

/// A client's settings (calls_client_builder_*), with chained setters;
/// `build()` consumes it.
class ClientBuilder {
public:
    ClientBuilder(const char *auth_id, const char *auth_token) {
        calls_client_builder *b = nullptr;
        detail::check(calls_client_builder_new(auth_id, auth_token, &b), "calls_client_builder_new");
        b_.reset(b);
    }
    /// From PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and PLIVO_API_URL.
    static ClientBuilder from_env() {
        calls_client_builder *b = nullptr;
        detail::check(calls_client_builder_from_env(&b), "calls_client_builder_from_env");
        return ClientBuilder(b);
    }
    ClientBuilder &base_url(const char *url) {
        detail::check(calls_client_builder_set_base_url(live(), url), "calls_client_builder_set_base_url");
        return *this;
    }
    ClientBuilder &timeout_ms(std::uint32_t ms) {
        detail::check(calls_client_builder_set_timeout_ms(live(), ms), "calls_client_builder_set_timeout_ms");
        return *this;
    }
    ClientBuilder &deadline_ms(std::uint32_t ms) {
        detail::check(calls_client_builder_set_deadline_ms(live(), ms), "calls_client_builder_set_deadline_ms");
        return *this;
    }
    ClientBuilder &max_retries(std::uint32_t n) {
        detail::check(calls_client_builder_set_max_retries(live(), n), "calls_client_builder_set_max_retries");
        return *this;
    }
    ClientBuilder &concurrency(std::uint32_t n) {
        detail::check(calls_client_builder_set_concurrency(live(), n), "calls_client_builder_set_concurrency");
        return *this;
    }
    ClientBuilder &rate_limit(std::uint32_t max_requests, std::uint32_t per_ms) {
        detail::check(calls_client_builder_set_rate_limit(live(), max_requests, per_ms),
                      "calls_client_builder_set_rate_limit");
        return *this;
    }
    ClientBuilder &window_policy(std::uint32_t default_days, std::uint32_t max_range_days, std::uint32_t retention_days) {
        detail::check(calls_client_builder_set_window_policy(live(), default_days, max_range_days, retention_days),
                      "calls_client_builder_set_window_policy");
        return *this;
    }
    /// A PEM file of CA certificates trusted instead of the built-in roots
    /// (calls_client_builder_set_ca_file; read by build()).
    ClientBuilder &ca_file(const char *path) {
        detail::check(calls_client_builder_set_ca_file(live(), path), "calls_client_builder_set_ca_file");
        return *this;
    }
    /// CALLS_TLS_ROOTS_WEBPKI or CALLS_TLS_ROOTS_PLATFORM.
    ClientBuilder &tls_roots(calls_tls_roots roots) {
        detail::check(calls_client_builder_set_tls_roots(live(), roots), "calls_client_builder_set_tls_roots");
        return *this;
    }
    ClientBuilder &connect_timeout_ms(std::uint32_t ms) {
        detail::check(calls_client_builder_set_connect_timeout_ms(live(), ms),
                      "calls_client_builder_set_connect_timeout_ms");
        return *this;
    }
    ClientBuilder &retry_policy(std::uint32_t base_ms, std::uint32_t max_backoff_ms, std::uint32_t max_retry_after_ms) {
        detail::check(calls_client_builder_set_retry_policy(live(), base_ms, max_backoff_ms, max_retry_after_ms),
                      "calls_client_builder_set_retry_policy");
        return *this;
    }
    ClientBuilder &user_agent(const char *ua) {
        detail::check(calls_client_builder_set_user_agent(live(), ua), "calls_client_builder_set_user_agent");
        return *this;
    }
    ClientBuilder &max_body_bytes(std::uint64_t bytes) {
        detail::check(calls_client_builder_set_max_body_bytes(live(), bytes), "calls_client_builder_set_max_body_bytes");
        return *this;
    }
    /// Builds the client; the builder is consumed, success or not.
    inline Client build();

private:
    explicit ClientBuilder(calls_client_builder *b) noexcept : b_(b) {}
    calls_client_builder *live() const {
        if (!b_) throw Error(CALLS_RESULT_NULL_PARAMETER, 0, "calls::ClientBuilder: already built");
        return b_.get();
    }
    detail::Handle<calls_client_builder, calls_client_builder_free> b_;
};

/// A client of the call-records API (calls_client_*); may be shared by
/// threads (its const member functions).
class Client {
public:
    /// Builds from a builder, which is consumed (chained setters give an
    /// lvalue: `calls::Client c(calls::ClientBuilder(id, tok).max_retries(2));`).
    explicit Client(ClientBuilder &b) : Client(b.build()) {}
    explicit Client(ClientBuilder &&b) : Client(b.build()) {}
    /// From PLIVO_AUTH_ID, PLIVO_AUTH_TOKEN and PLIVO_API_URL.
    static Client from_env() { return ClientBuilder::from_env().build(); }

    /// A pager over every call matching `q`, at most `max_items` (0: all).
    Pager calls(const Query &q, std::uint64_t max_items = 0) const {
        calls_pager *p = nullptr;
        detail::check(calls_pager_new(c_.get(), q.get(), max_items, &p), "calls_pager_new");
        return Pager(p);
    }
    /// One call by uuid (calls_client_get_call); throws Error (VALIDATION
    /// for a non-uuid, NOT_FOUND for 404).
    Call get_call(const char *call_uuid) const {
        calls_call *c = nullptr;
        detail::check(calls_client_get_call(c_.get(), call_uuid, &c), "calls_client_get_call");
        return Call(c);
    }
    Call get_call(const std::string &call_uuid) const { return get_call(call_uuid.c_str()); }
    /// The client's request counters as JSON (calls_client_stats).
    std::string stats() const {
        char *s = nullptr;
        std::size_t len = 0;
        detail::check(calls_client_stats(c_.get(), &s, &len), "calls_client_stats");
        return detail::take_string(s, len);
    }
    const calls_client *get() const noexcept { return c_.get(); }

private:
    friend class ClientBuilder;
    explicit Client(calls_client *c) noexcept : c_(c) {}
    detail::Handle<calls_client, calls_client_free> c_;
};

inline Client ClientBuilder::build() {
    calls_client_builder *b = live();
    b_.release(); // consumed by calls_client_builder_build whatever happens
    calls_client *c = nullptr;
    detail::check(calls_client_builder_build(b, &c), "calls_client_builder_build");
    return Client(c);
}

} // namespace calls

#endif /* CALLS_HPP */
