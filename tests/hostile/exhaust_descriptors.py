# expect: error: OSError
def schedule(p, w, d):
    handles = []
    while True:
        handles.append(open("/dev/null"))
