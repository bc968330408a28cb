import DistTrainer
print(DistInfo.version)
