DROP TABLE user_names, places, bar, tags, baz.users, users;
DROP TYPE status;
DROP SCHEMA baz;
