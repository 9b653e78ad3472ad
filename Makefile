# llmtrace — PGXS build. `make && make install` against the pg_config on PATH
# (or `make PG_CONFIG=/path/to/pg_config`).
EXTENSION   = llmtrace
EXTVERSION  = 0.2.0
MODULE_big  = llmtrace
DATA_built  = llmtrace--$(EXTVERSION).sql llmtrace--0.1.0--0.2.0.sql
DATA        = src/sql/llmtrace--0.1.0.sql
PGFILEDESC  = "llmtrace - LLM trace processing inside PostgreSQL"

CORE_SRCS  = $(wildcard src/core/*.cpp)
PG_SRCS    = $(wildcard src/pg/*.cpp)
ENTRY_SRCS = $(wildcard src/entry/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o) $(ENTRY_SRCS:.cpp=.o)

REGRESS = $(basename $(notdir $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=llmtrace --encoding=UTF8 --no-locale
ISOLATION = $(basename $(notdir $(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=llmtrace --encoding=UTF8 --no-locale

# llmtrace-listen, the LISTEN client, and llmtrace-gateway, the HTTP front (C++,
# libpq, cpp-httplib), installed into the bin directory.
SCRIPTS_built = llmtrace-listen llmtrace-gateway
EXTRA_CLEAN   = llmtrace-listen llmtrace-gateway tools/gateway/web/assets.gen.hpp

PG_CONFIG ?= pg_config
# The C++ core is not compiled to LLVM bitcode for JIT inlining.
override with_llvm = no

PG_CPPFLAGS = -Isrc -DSIMDJSON_THREADS_ENABLED=1 -DLLMTRACE_VERSION=\"$(EXTVERSION)\"
PG_CXXFLAGS = -std=c++17 -fexceptions -Wno-register -Werror -Wextra -Wno-unused-parameter \
              -Wno-missing-field-initializers -Wno-cast-function-type
SHLIB_LINK  = -lsimdjson -lstdc++

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)



# The install script is the schema, the summaries (src/sql/summaries.sql, also
# part of the upgrade to 0.2.0) and the seeded price list (data/model_prices.csv).
llmtrace--$(EXTVERSION).sql: src/sql/llmtrace.sql src/sql/summaries.sql src/sql/alerts.sql src/sql/operations.sql src/sql/tenants.sql src/sql/otlp.sql src/sql/observability.sql data/model_prices.csv
	sed -e '/^-- @MODEL_PRICES_CSV@$$/{r data/model_prices.csv' -e 'd}' \
	    -e '/^-- @SUMMARIES@$$/{r src/sql/summaries.sql' -e 'd}' \
	    -e '/^-- @OPERATIONS@$$/{r src/sql/operations.sql' -e 'd}' \
	    -e '/^-- @TENANTS@$$/{r src/sql/tenants.sql' -e 'd}' \
	    -e '/^-- @OTLP@$$/{r src/sql/otlp.sql' -e 'd}' \
	    -e '/^-- @OBSERVABILITY@$$/{r src/sql/observability.sql' -e 'd}' \
	    -e '/^-- @ALERTS@$$/{r src/sql/alerts.sql' -e 'd}' src/sql/llmtrace.sql > $@

llmtrace--0.1.0--0.2.0.sql: src/sql/upgrade--0.1.0--0.2.0.sql src/sql/summaries.sql src/sql/alerts.sql src/sql/operations.sql src/sql/tenants.sql src/sql/otlp.sql src/sql/observability.sql
	sed -e '/^-- @SUMMARIES@$$/{r src/sql/summaries.sql' -e 'd}' \
	    -e '/^-- @OPERATIONS@$$/{r src/sql/operations.sql' -e 'd}' \
	    -e '/^-- @TENANTS@$$/{r src/sql/tenants.sql' -e 'd}' \
	    -e '/^-- @OTLP@$$/{r src/sql/otlp.sql' -e 'd}' \
	    -e '/^-- @OBSERVABILITY@$$/{r src/sql/observability.sql' -e 'd}' \
	    -e '/^-- @ALERTS@$$/{r src/sql/alerts.sql' -e 'd}' src/sql/upgrade--0.1.0--0.2.0.sql > $@

$(OBJS): $(wildcard src/core/*.hpp src/pg/*.hpp)

llmtrace-listen: tools/listen/llmtrace_listen.cpp
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -I$(shell $(PG_CONFIG) --includedir) \
	    -o $@ $< -L$(shell $(PG_CONFIG) --libdir) -lpq -lcurl

# The dashboard's files are compiled into the gateway: embed.sh writes them as byte arrays
# into tools/gateway/web/assets.gen.hpp (with od and sed, no xxd). index.html is served at /,
# the others at their path under tools/gateway/web.
GATEWAY_WEB = index.html app.js app.css favicon.svg vendor/uPlot.iife.min.js vendor/uPlot.min.css
tools/gateway/web/assets.gen.hpp: tools/gateway/web/embed.sh $(addprefix tools/gateway/web/,$(GATEWAY_WEB))
	sh tools/gateway/web/embed.sh tools/gateway/web $(GATEWAY_WEB) >$@.tmp && mv $@.tmp $@

llmtrace-gateway: tools/gateway/llmtrace_gateway.cpp tools/gateway/web/assets.gen.hpp
	$(CXX) -std=c++17 -O2 -g -Wall -Wextra -Werror -I$(shell $(PG_CONFIG) --includedir) -Itools/gateway/web \
	    $(shell pkg-config --cflags cpp-httplib) \
	    -o $@ $< -L$(shell $(PG_CONFIG) --libdir) -lpq $(shell pkg-config --libs cpp-httplib) -lssl -lcrypto -lz -pthread
