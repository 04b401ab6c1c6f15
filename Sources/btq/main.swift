print("btq")
