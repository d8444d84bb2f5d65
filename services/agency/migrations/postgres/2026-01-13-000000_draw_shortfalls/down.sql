DROP TABLE draw_shortfalls;
