#!/usr/bin/env python3
"""Write a deterministic SQL workload for the sqlite3 shell to stdout.

Individual INSERT statements (so the parser and prepared statements churn), bulk inserts
through recursive CTEs, indexes, updates, deletes, joins, aggregates, window functions,
JSON and string functions. Every SELECT has an ORDER BY, so the output is a pure function
of the data: tests/programs/run.sh compares its md5 plain vs on segalloc.

Usage: gen_sql.py [rows]   (default 30000)
"""
import sys

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 30000
out = []
w = out.append


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def next(self):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.x >> 33


r = Lcg(7)
w("PRAGMA cache_size = 64;\n")  # small page cache: pages are evicted and re-read
w("PRAGMA temp_store = MEMORY;\n")
w("PRAGMA synchronous = OFF;\n")
w("CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score REAL, note TEXT);\n")
w("CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INTEGER, item TEXT, qty INTEGER, price REAL, meta TEXT);\n")
w("CREATE TABLE kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID;\n")

cities = ["Oslo", "Lima", "Pune", "Kyiv", "Nice", "Bonn", "Cork", "Faro", "Graz", "Riga"]
w("BEGIN;\n")
for i in range(1, ROWS // 5 + 1):
    w("INSERT INTO customer VALUES(%d, 'cust%05d', '%s', %d.%02d, '%s');\n" % (
        i, r.next() % 100000, cities[r.next() % len(cities)], r.next() % 1000, r.next() % 100,
        "n" * (r.next() % 60)))
w("COMMIT;\n")
w("BEGIN;\n")
for i in range(1, ROWS + 1):
    w("INSERT INTO orders(cust, item, qty, price, meta) VALUES(%d, 'item-%d', %d, %d.%d, "
      "json_object('i', %d, 'tags', json_array('a%d', 'b%d')));\n" % (
          1 + r.next() % (ROWS // 5), r.next() % 3000, 1 + r.next() % 20, r.next() % 500,
          r.next() % 10, i, r.next() % 7, r.next() % 11))
w("COMMIT;\n")
w("""
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)
INSERT INTO kv SELECT printf('key-%%08d-%%s', (i * 7919) %% 1000003, substr('abcdefghijklmnop', 1 + i %% 16)),
                      zeroblob(i %% 300) || printf('%%d', i * i) FROM c;
CREATE INDEX orders_cust ON orders(cust);
CREATE INDEX orders_item_qty ON orders(item, qty);
CREATE INDEX customer_city ON customer(city, score);
UPDATE orders SET price = price * 1.1, meta = json_set(meta, '$.upd', qty) WHERE qty %% 3 = 0;
UPDATE customer SET note = note || upper(name) WHERE id %% 5 = 1;
DELETE FROM orders WHERE id %% 17 = 0;
DELETE FROM kv WHERE k LIKE 'key-%%3-%%';
INSERT INTO orders(cust, item, qty, price, meta)
  SELECT cust, item || '-copy', qty + 1, price / 2, meta FROM orders WHERE id %% 4 = 1;
ANALYZE;
VACUUM;
.headers on
.mode csv
SELECT count(*), sum(qty), printf('%%.2f', sum(price)) FROM orders;
SELECT c.city, count(*), sum(o.qty), printf('%%.2f', avg(o.price))
  FROM orders o JOIN customer c ON c.id = o.cust GROUP BY c.city ORDER BY c.city;
SELECT item, qty, count(*) FROM orders GROUP BY item, qty HAVING count(*) > 3 ORDER BY 3 DESC, 1, 2 LIMIT 200;
SELECT id, name, score, rank() OVER (PARTITION BY city ORDER BY score DESC, id) AS rk
  FROM customer ORDER BY city, rk, id LIMIT 2000;
SELECT cust, group_concat(item, ';') FROM (SELECT cust, item FROM orders WHERE cust %% 97 = 0 ORDER BY id)
  GROUP BY cust ORDER BY cust;
SELECT json_extract(meta, '$.tags[0]') AS t, count(*), sum(json_extract(meta, '$.upd') IS NOT NULL)
  FROM orders GROUP BY t ORDER BY t;
SELECT k, length(v), hex(substr(v, -4)) FROM kv ORDER BY k LIMIT 3000;
SELECT count(*), sum(length(v)) FROM kv;
SELECT o.id, o.item, c.name FROM orders o JOIN customer c ON c.id = o.cust
  WHERE o.item IN (SELECT item FROM orders GROUP BY item ORDER BY count(*) DESC, item LIMIT 5)
  ORDER BY o.id;
WITH RECURSIVE fib(n, a, b) AS (SELECT 0, 0, 1 UNION ALL SELECT n + 1, b, (a + b) %% 1000000007 FROM fib WHERE n < 5000)
  SELECT max(n), sum(a) %% 1000000007 FROM fib;
PRAGMA integrity_check;
""" % (ROWS * 2))

sys.stdout.write("".join(out))
