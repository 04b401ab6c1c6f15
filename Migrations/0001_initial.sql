-- placeholder, replaced by the store work
CREATE TABLE placeholder (id INTEGER PRIMARY KEY);
