def tokenize(text):  # expect: complexity
    tokens = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit():
            j = i
            while j < len(text) and text[j].isdigit():
                j += 1
            tokens.append(("num", text[i:j]))
            i = j
        elif ch.isalpha():
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(("name", text[i:j]))
            i = j
        elif ch in "+-*/":
            tokens.append(("op", ch))
            i += 1
        elif ch in "()":
            tokens.append(("paren", ch))
            i += 1
        elif ch == "#":
            break
        else:
            raise ValueError(ch)
    return tokens
